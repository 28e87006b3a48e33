from kliqs_core import KliqsClient

client = KliqsClient("kliqs_sk_live_xxxxxxxxx", base_url="https://api.kliqs.me")
link = client.create_link(
    "https://marketku.id/products/8f3f4f3f-1231-1231-1231",
    slug="vps-murah",
    title="VPS Murah",
)
print(link.short_url)
