"""The public pages' words, in Indonesian (default) and English."""

from __future__ import annotations

from typing import Final

TEXTS: Final[dict[str, dict[str, str]]] = {
    "id": {
        "404_title": "Link tidak ditemukan",
        "404_body": "Link yang kamu buka tidak ada atau salah ketik. Periksa lagi alamatnya.",
        "410_title": "Link sudah tidak aktif",
        "410_body": "Link ini sudah kedaluwarsa atau dihapus oleh pemiliknya.",
        "405_title": "Metode tidak diizinkan",
        "405_body": "Alamat ini hanya bisa dibuka lewat browser.",
        "413_title": "Data terlalu besar",
        "413_body": "Formulir yang dikirim terlalu besar.",
        "503_title": "Sedang ada gangguan",
        "503_body": "Link ini tidak bisa dibuka sekarang. Coba lagi sebentar lagi.",
        "home": "Ke beranda Kliqs",
        "gate_title": "Link ini dilindungi kata sandi",
        "gate_intro": "Masukkan kata sandi dari pemilik link untuk melanjutkan.",
        "gate_label": "Kata sandi",
        "gate_submit": "Buka link",
        "gate_wrong": "Kata sandi salah. Coba lagi.",
        "gate_locked": "Terlalu banyak percobaan yang salah. Coba lagi dalam {minutes} menit.",
        "gate_expired_form": "Formulir sudah kedaluwarsa. Silakan masukkan kata sandi lagi.",
        "bio_made_with": "Dibuat dengan Kliqs",
        "bio_empty": "Belum ada link.",
    },
    "en": {
        "404_title": "Link not found",
        "404_body": "The link you opened does not exist or was mistyped. Check the address.",
        "410_title": "This link is no longer active",
        "410_body": "This link has expired or was removed by its owner.",
        "405_title": "Method not allowed",
        "405_body": "This address can only be opened in a browser.",
        "413_title": "Too much data",
        "413_body": "The form sent was too large.",
        "503_title": "Something went wrong",
        "503_body": "This link cannot be opened right now. Try again in a moment.",
        "home": "Go to the Kliqs home page",
        "gate_title": "This link is password-protected",
        "gate_intro": "Enter the password from the link's owner to continue.",
        "gate_label": "Password",
        "gate_submit": "Open link",
        "gate_wrong": "Wrong password. Try again.",
        "gate_locked": "Too many wrong tries. Try again in {minutes} minutes.",
        "gate_expired_form": "The form expired. Please enter the password again.",
        "bio_made_with": "Made with Kliqs",
        "bio_empty": "No links yet.",
    },
}
