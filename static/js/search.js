// "/" puts the cursor in the header's search box, unless the person is typing somewhere already.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
  const box = document.querySelector(".header-search input[name=q]");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});
