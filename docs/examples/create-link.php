<?php
$ch = curl_init("https://api.kliqs.me/api/v1/links");
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
curl_setopt($ch, CURLOPT_POST, true);
curl_setopt($ch, CURLOPT_HTTPHEADER, [
"Authorization: Bearer kliqs_sk_live_xxxxxxxxx",
"Content-Type: application/json"
]);
curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode([
"url" => "https://marketku.id/products/8f3f4f3f-1231-1231-1231",
"slug" => "vps-murah",
"title" => "VPS Murah"
]));
$response = curl_exec($ch);
curl_close($ch);
$result = json_decode($response, true);
if ($result["success"]) {
echo $result["data"]["short_url"];
}
