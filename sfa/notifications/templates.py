"""Message templates in Bahasa Indonesia ("id") and English ("en").

The language is the recipient's (user.language / customer.language), else the company's;
a language without a template falls back to English. Payload values are formatted with
`str.format`, so a template names the payload keys it uses.
"""

from dataclasses import dataclass
from datetime import date

from sfa.errors import InvalidInput

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


# template -> language -> (subject, body)
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "order_placed_distributor": {
        "id": (
            "Pesanan baru {order_ref} dari {customer_name}",
            "Pelanggan Anda {customer_name} telah membuat pesanan {order_ref} senilai "
            "{currency} {net_amount} melalui {rep_name}. Mohon siapkan pengiriman.",
        ),
        "en": (
            "New order {order_ref} from {customer_name}",
            "Your customer {customer_name} placed order {order_ref} of {currency} "
            "{net_amount} through {rep_name}. Please prepare the delivery.",
        ),
    },
    "order_placed_rep": {
        "id": (
            "Pesanan {order_ref} diteruskan ke distributor",
            "Pesanan {order_ref} dari {customer_name} telah dikirim ke distributor "
            "{distributor_name}.",
        ),
        "en": (
            "Order {order_ref} passed to the distributor",
            "Order {order_ref} of {customer_name} was sent to the distributor {distributor_name}.",
        ),
    },
    "order_cancelled_distributor": {
        "id": (
            "Pesanan {order_ref} dari {customer_name} dibatalkan",
            "Pesanan {order_ref} dari pelanggan Anda {customer_name} senilai {currency} "
            "{net_amount} telah dibatalkan. Mohon jangan kirimkan barangnya.",
        ),
        "en": (
            "Order {order_ref} from {customer_name} cancelled",
            "Order {order_ref} of your customer {customer_name} of {currency} {net_amount} "
            "has been cancelled. Please do not deliver it.",
        ),
    },
    "order_cancelled_rep": {
        "id": (
            "Pesanan {order_ref} dibatalkan oleh kantor",
            "Pesanan {order_ref} dari {customer_name} dibatalkan oleh kantor. Catatan: {note}",
        ),
        "en": (
            "Order {order_ref} cancelled by the office",
            "Order {order_ref} of {customer_name} was cancelled by the office. Note: {note}",
        ),
    },
    "order_corrected_rep": {
        "id": (
            "Pesanan {order_ref} dikoreksi oleh kantor",
            "Pesanan {order_ref} dari {customer_name} dikoreksi oleh kantor dan dikirim "
            "ulang ke ERP (kini {currency} {net_amount}). Catatan: {note}",
        ),
        "en": (
            "Order {order_ref} corrected by the office",
            "Order {order_ref} of {customer_name} was corrected by the office and sent to "
            "the ERP again (now {currency} {net_amount}). Note: {note}",
        ),
    },
    "invoice_overdue": {
        "id": (
            "Tagihan jatuh tempo",
            "Yth. {customer_name}, tagihan {invoice_number} sebesar {currency} {amount} "
            "telah jatuh tempo pada {due_date}. Mohon segera lakukan pembayaran. "
            "Abaikan pesan ini jika sudah membayar.",
        ),
        "en": (
            "Invoice overdue",
            "Dear {customer_name}, invoice {invoice_number} of {currency} {amount} was "
            "due on {due_date}. Please pay at your earliest convenience. Ignore this "
            "message if you have already paid.",
        ),
    },
    "delivery_confirmed": {
        "id": (
            "Tanggal pengiriman dikonfirmasi",
            "Yth. {customer_name}, pesanan {order_ref} akan dikirim pada {delivery_date}.",
        ),
        "en": (
            "Delivery date confirmed",
            "Dear {customer_name}, order {order_ref} will be delivered on {delivery_date}.",
        ),
    },
    "announcement_price_change": {
        "id": ("Perubahan harga: {title}", "{body}"),
        "en": ("Price change: {title}", "{body}"),
    },
    "announcement_promotion": {
        "id": ("Promosi: {title}", "{body}"),
        "en": ("Promotion: {title}", "{body}"),
    },
    "target_progress": {
        "id": (
            "Progres target {period_start} - {period_end}",
            "Kunjungan {visits_done}/{visits_target} ({visits_pct}%), penjualan "
            "{sales_done}/{sales_target} ({sales_pct}%). Sisa {days_left} hari.",
        ),
        "en": (
            "Target progress {period_start} - {period_end}",
            "Visits {visits_done}/{visits_target} ({visits_pct}%), sales "
            "{sales_done}/{sales_target} ({sales_pct}%). {days_left} days left.",
        ),
    },
    # The "Contract renewal" workflow (sfa/workflows/defaults/contract_renewal.json).
    "contract_renewal_reminder": {
        "id": (
            "Kontrak {contract_title} berakhir {end_date}",
            "Yth. {customer_name}, kontrak {contract_title} berakhir pada {end_date} "
            "({days_before} hari lagi). Hubungi kami untuk perpanjangan; kontrak dengan "
            "perpanjangan otomatis diperpanjang kecuali Anda memberi tahu sebelum "
            "{notice_deadline}.",
        ),
        "en": (
            "Contract {contract_title} ends {end_date}",
            "Dear {customer_name}, your contract {contract_title} ends on {end_date} (in "
            "{days_before} days). Contact us to renew; a contract that renews by itself "
            "is renewed unless you give notice before {notice_deadline}.",
        ),
    },
    "renewal_unassigned": {
        "id": (
            "Perpanjangan {contract_title} tanpa pemilik",
            "Tidak ada yang bisa memegang perpanjangan {contract_title} ({customer_name}, "
            "berakhir {end_date}): {summary}. Tambahkan staf perpanjangan lalu rute ulang.",
        ),
        "en": (
            "Renewal of {contract_title} has no owner",
            "Nobody can own the renewal of {contract_title} ({customer_name}, ends "
            "{end_date}): {summary}. Add renewal staff, then route it again.",
        ),
    },
    # The "Lead assignment" workflow (sfa/workflows/defaults/lead_assignment.json).
    "lead_assigned": {
        "id": (
            "Prospek baru untuk Anda: {opportunity_title}",
            "Prospek {opportunity_title} (skor {score}) diberikan kepada Anda: {reason_id}.",
        ),
        "en": (
            "A new lead for you: {opportunity_title}",
            "The lead {opportunity_title} (score {score}) was given to you: {reason_en}.",
        ),
    },
    "lead_nurture": {
        "id": (
            "Tindak lanjuti prospek {opportunity_title}",
            "Prospek {opportunity_title} (skor {score}) belum bergerak. Hubungi lagi untuk "
            "menjaga minatnya.",
        ),
        "en": (
            "Follow up the lead {opportunity_title}",
            "The lead {opportunity_title} (score {score}) has not moved on. Get in touch "
            "again to keep it warm.",
        ),
    },
    # The webhooks dispatcher disabled an endpoint (sfa/webhooks/service.py): its owner
    # is told why and how to turn it back on.
    "webhook_disabled": {
        "id": (
            "Webhook {webhook_name} dinonaktifkan",
            "Webhook {webhook_name} ({webhook_url}) dinonaktifkan: {reason_id}. Perbaiki "
            "penerimanya, lalu aktifkan lagi (PATCH /v1/webhooks/{webhook_id} "
            '{{"active": true}}); pengiriman yang tertunda dilanjutkan.',
        ),
        "en": (
            "Webhook {webhook_name} disabled",
            "Webhook {webhook_name} ({webhook_url}) was disabled: {reason_en}. Fix the "
            "receiver, then turn it back on (PATCH /v1/webhooks/{webhook_id} "
            '{{"active": true}}); the waiting deliveries then resume.',
        ),
    },
}


def render(template: str, language: str, payload: dict) -> Rendered:
    variants = TEMPLATES.get(template)
    if variants is None:
        raise InvalidInput(
            f"unknown notification template {template!r}",
            hint=f"known templates: {', '.join(sorted(TEMPLATES))}",
        )
    subject, body = variants.get(language) or variants[FALLBACK_LANGUAGE]
    try:
        return Rendered(subject=subject.format(**payload), body=body.format(**payload))
    except KeyError as exc:
        raise InvalidInput(f"template {template!r} needs payload key {exc.args[0]!r}") from exc


def pick_language(*candidates: str | None) -> str:
    """The first language we have templates for, e.g. (customer.language, company)."""
    for candidate in candidates:
        if candidate and candidate.lower()[:2] in {"id", "en"}:
            return candidate.lower()[:2]
    return FALLBACK_LANGUAGE


def local_date(company_language: str, day: date) -> str:
    """A date as the company writes it in messages: 01-12-2026 in Indonesian, else ISO."""
    return day.strftime("%d-%m-%Y") if company_language == "id" else day.isoformat()
