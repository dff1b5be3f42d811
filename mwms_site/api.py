"""The JSON API root (/api/v1/): mounts each app's router. See README, "The API"."""

from ninja import NinjaAPI

api = NinjaAPI(title="MWMS HeadOffice API", version="1", urls_namespace="api")
