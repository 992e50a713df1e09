"""The console's words in English and Bahasa Indonesia.

Reasons of flags and anomalies come from the database in both languages (analytics);
this table holds only the console's own labels. A missing key shows itself (the key),
and a test checks that every key used by the templates exists in both languages."""

from collections.abc import Callable

from api.console import i18n_crm, i18n_workflows

LANGUAGES = ("id", "en")

# key: (English, Bahasa Indonesia)
MESSAGES: dict[str, tuple[str, str]] = {
    "app.title": ("SFA console", "Konsol SFA"),
    "nav.label": ("Pages", "Halaman"),
    "nav.today": ("Today", "Hari ini"),
    "nav.suspicious": ("Suspicious visits", "Kunjungan mencurigakan"),
    "nav.anomalies": ("Weekly anomalies", "Anomali mingguan"),
    "nav.plan_compliance": ("Plan compliance", "Kepatuhan rencana"),
    "nav.team_days": ("Team days", "Hari tim"),
    "nav.approvals": ("Approvals", "Persetujuan"),
    "nav.orders": ("Orders and ERP", "Pesanan dan ERP"),
    "login.title": ("Log in to the console", "Masuk ke konsol"),
    "login.username": ("Username", "Nama pengguna"),
    "login.password": ("Password", "Kata sandi"),
    "login.submit": ("Log in", "Masuk"),
    "login.failed": ("Wrong username or password.", "Nama pengguna atau kata sandi salah."),
    "login.rep": (
        "The console is for managers and administrators; reps use the mobile app.",
        "Konsol ini untuk manajer dan administrator; sales memakai aplikasi seluler.",
    ),
    "login.throttled": (
        "Too many failed logins. Wait a few minutes and try again.",
        "Terlalu banyak percobaan gagal. Tunggu beberapa menit lalu coba lagi.",
    ),
    "logout": ("Log out", "Keluar"),
    "language": ("Language", "Bahasa"),
    "language.apply": ("Change", "Ganti"),
    "error.title": ("Something is not right", "Ada yang tidak beres"),
    "error.csrf": (
        "The form was refused: its security token is missing or out of date. "
        "Reload the page and try again.",
        "Formulir ditolak: token keamanannya tidak ada atau kedaluwarsa. "
        "Muat ulang halaman lalu coba lagi.",
    ),
    "error.back": ("Back to the console", "Kembali ke konsol"),
    "error.offline": (
        "The server could not be reached. Check the connection and try again.",
        "Server tidak dapat dihubungi. Periksa koneksi lalu coba lagi.",
    ),
    "filter.apply": ("Show", "Tampilkan"),
    "filter.team": ("Team", "Tim"),
    "filter.rep": ("Rep", "Sales"),
    "filter.all": ("All", "Semua"),
    "filter.date_from": ("From", "Dari"),
    "filter.date_to": ("To", "Sampai"),
    "filter.week_from": ("From week", "Dari minggu"),
    "filter.week_to": ("To week", "Sampai minggu"),
    "filter.code": ("Flag", "Tanda"),
    "filter.max_trust": ("Trust score at most", "Skor kepercayaan paling tinggi"),
    "filter.state": ("State", "Status"),
    "filter.by": ("Per", "Per"),
    "by.week": ("week", "minggu"),
    "by.day": ("day", "hari"),
    "csv": ("Download CSV", "Unduh CSV"),
    "page.prev": ("Previous", "Sebelumnya"),
    "page.next": ("Next", "Berikutnya"),
    "page.of": ("{first}–{last} of {total}", "{first}–{last} dari {total}"),
    "none": ("Nothing to show.", "Tidak ada data."),
    "col.rep": ("Rep", "Sales"),
    "col.team": ("Team", "Tim"),
    "col.day": ("Day", "Hari"),
    "col.week": ("Week", "Minggu"),
    "col.customer": ("Customer", "Pelanggan"),
    "col.check_in": ("Check-in", "Check-in"),
    "col.dwell": ("Dwell", "Lama"),
    "col.trust": ("Trust", "Skor"),
    "col.reasons": ("Reasons", "Alasan"),
    "col.map": ("Map", "Peta"),
    "col.anomaly": ("Anomaly", "Anomali"),
    "col.planned": ("Planned", "Direncanakan"),
    "col.done": ("Done", "Selesai"),
    "col.rate": ("Rate", "Tingkat"),
    "col.visits": ("Visits", "Kunjungan"),
    "col.verified": ("Verified", "Terverifikasi"),
    "col.distance": ("Distance", "Jarak"),
    "col.coverage": ("GPS coverage", "Cakupan GPS"),
    "col.flagged": ("Flagged", "Bertanda"),
    "col.first": ("First", "Pertama"),
    "col.last": ("Last", "Terakhir"),
    "col.order": ("Order", "Pesanan"),
    "col.state": ("State", "Status"),
    "col.total": ("Total", "Total"),
    "col.discount": ("Discount", "Diskon"),
    "col.created": ("Created", "Dibuat"),
    "col.product": ("Product", "Produk"),
    "col.quantity": ("Qty", "Jml"),
    "col.unit_price": ("Unit price", "Harga satuan"),
    "col.net": ("Net", "Neto"),
    "col.started": ("Started", "Mulai"),
    "col.status": ("Status", "Status"),
    "col.counts": ("Counts", "Jumlah"),
    "col.errors": ("Errors", "Kesalahan"),
    "col.reason": ("Reason", "Alasan"),
    "col.attempts": ("Attempts", "Percobaan"),
    "col.position": ("Last position", "Posisi terakhir"),
    "map.open": ("on the map", "di peta"),
    "today.title": ("Today", "Hari ini"),
    "today.refresh": (
        "Refreshes every minute; last update {time}.",
        "Diperbarui tiap menit; terakhir {time}.",
    ),
    "today.nothing_yet": (
        "Nobody has checked in or sent a position yet today.",
        "Belum ada check-in atau posisi hari ini.",
    ),
    "today.yesterday": ("Yesterday's team days", "Hari tim kemarin"),
    "today.no_position": ("no position today", "belum ada posisi hari ini"),
    "today.ago": ("{minutes} min ago", "{minutes} mnt lalu"),
    "today.legend": (
        "Visits by trust score: green ≥ 80, amber 50–79, red < 50, grey not scored yet.",
        "Kunjungan menurut skor kepercayaan: hijau ≥ 80, kuning 50–79, merah < 50, "
        "abu-abu belum dinilai.",
    ),
    "repday.title": ("{rep}, {day}", "{rep}, {day}"),
    "repday.prev": ("Previous day", "Hari sebelumnya"),
    "repday.next": ("Next day", "Hari berikutnya"),
    "repday.distance": ("Distance", "Jarak"),
    "repday.coverage": ("GPS coverage", "Cakupan GPS"),
    "repday.pings": ("GPS points", "Titik GPS"),
    "repday.gaps": ("Gaps in the data", "Celah data"),
    "repday.stops": ("Stops", "Berhenti"),
    "repday.trips": ("Trips", "Perjalanan"),
    "repday.visits": ("Visits", "Kunjungan"),
    "repday.unlogged": ("unlogged visit", "kunjungan tidak dicatat"),
    "repday.drive_by": ("drive-by", "lewat saja"),
    "repday.replay": ("Replay", "Putar ulang"),
    "repday.play": ("Play", "Putar"),
    "repday.no_data": ("No GPS data for this day.", "Tidak ada data GPS untuk hari ini."),
    "repday.legend": (
        "Line: the track (a gap in the data is a gap in the line). Squares: stops "
        "(orange: near a customer without a check-in). Circles: check-ins by trust score.",
        "Garis: jejak (celah data tampak sebagai celah garis). Kotak: tempat berhenti "
        "(oranye: dekat pelanggan tanpa check-in). Lingkaran: check-in menurut skor.",
    ),
    "anomalies.history": (
        "Visits per week (this week in red)",
        "Kunjungan per minggu (minggu ini merah)",
    ),
    "approvals.discounts": ("Discounts waiting for you", "Diskon menunggu keputusan Anda"),
    "approvals.locations": ("Customer location changes", "Perubahan lokasi pelanggan"),
    "approvals.level": ("level {level}", "tingkat {level}"),
    "approvals.due": ("due {time}", "tenggat {time}"),
    "approvals.comment": ("Comment", "Komentar"),
    "approvals.approve": ("Approve", "Setujui"),
    "approvals.reject": ("Reject", "Tolak"),
    "approvals.approved": ("Approved.", "Disetujui."),
    "approvals.rejected": ("Rejected.", "Ditolak."),
    "approvals.now": ("Order is now {state}.", "Pesanan sekarang {state}."),
    "approvals.customer": ("Customer record", "Data pelanggan"),
    "approvals.class": ("Class", "Kelas"),
    "approvals.address": ("Address", "Alamat"),
    "approvals.phone": ("Phone", "Telepon"),
    "approvals.invoices": ("Unpaid invoices", "Faktur belum dibayar"),
    "approvals.old": ("current location", "lokasi sekarang"),
    "approvals.new": ("proposed location", "lokasi usulan"),
    "approvals.moved": ("moves {metres} m", "pindah {metres} m"),
    "approvals.by": ("proposed by {who}", "diusulkan oleh {who}"),
    "orders.by_state": ("Orders by state", "Pesanan menurut status"),
    "orders.recent": ("Orders", "Pesanan"),
    "orders.sync_runs": ("ERP sync runs", "Sinkronisasi ERP"),
    "orders.parked": ("Orders the ERP refused (parked)", "Pesanan ditolak ERP (ditahan)"),
    "orders.retry": ("Retry", "Coba lagi"),
    "orders.requeued": (
        "Queued again for the next sync.",
        "Diantrekan lagi untuk sinkronisasi berikutnya.",
    ),
    "orders.admin_only": (
        "ERP sync details are for administrators.",
        "Rincian sinkronisasi ERP hanya untuk administrator.",
    ),
    "unit.km": ("{value} km", "{value} km"),
    "unit.min": ("{value} min", "{value} mnt"),
    # The pages of later capabilities keep their words in a module each.
    **i18n_crm.MESSAGES,
    **i18n_workflows.MESSAGES,
}


def translator(lang: str) -> Callable[..., str]:
    index = 1 if lang == "id" else 0

    def t(key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t
