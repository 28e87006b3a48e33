const response = await fetch("https://api.kliqs.me/api/v1/links", {
method: "POST",
headers: {
"Authorization": "Bearer kliqs_sk_live_xxxxxxxxx",
"Content-Type": "application/json"
},
body: JSON.stringify({
url: "https://marketku.id/products/8f3f4f3f-1231-1231-1231",
slug: "vps-murah",
title: "VPS Murah"
})
});
const result = await response.json();
if (result.success) {
console.log("Short URL:", result.data.short_url);
} else {
console.error(result.error, result.message);
}
