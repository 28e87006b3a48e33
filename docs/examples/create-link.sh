curl -X POST "https://api.kliqs.me/api/v1/links" \
-H "Authorization: Bearer kliqs_sk_live_xxxxxxxxx" \
-H "Content-Type: application/json" \
-d '{"url":"https://marketku.id/products/8f3f4f3f-1231-1231-1231"}'
