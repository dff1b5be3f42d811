// The canon suggestion form's evidence picker (issue 15, item 2): search-as-you-type shows the
// requests, decisions and lessons that match (htmx), and "Add" puts one on its own line of the
// evidence box, which the server reads. Without JavaScript the picker stays hidden and the box
// takes ids and links as typed.
document.addEventListener("DOMContentLoaded", () => {
  for (const picker of document.querySelectorAll(".evidence-search[hidden]")) picker.hidden = false;
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-evidence]");
  if (!button) return;
  const picker = button.closest(".evidence-search");
  const box = picker && document.getElementById(picker.dataset.evidenceTarget);
  if (!box) return;
  const line = button.dataset.evidence;
  const lines = box.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines.includes(line)) box.value = [...lines, line].join("\n");
  button.textContent = "Added";
  button.disabled = true;
});

// Enter in the picker's search box searches; it must not send the whole request form.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.matches(".evidence-search input[type=search]")) event.preventDefault();
});
