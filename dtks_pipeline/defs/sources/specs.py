"""What each delivery looks like (SOURCES.md): file name, kind, header columns, required fields."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSpec:
    name: str  # staging table name and asset key suffix
    filename: str | None  # None for the village folder desa/*.xlsx|csv
    kind: str  # "snapshot" (whole regency at month end) or "event" (this month's events)
    columns: tuple[str, ...]  # header columns the file must have
    required: tuple[str, ...]  # fields that must be non-empty in every row
    separators: tuple[str, ...] = (";",)
    description: str = ""

    @property
    def is_snapshot(self) -> bool:
        return self.kind == "snapshot"


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            "dtks",
            "dtks.csv",
            "snapshot",
            ("ID_DTKS", "ID_ART", "NOKK", "NIK", "NAMA", "JNS_KEL", "TMPT_LHR", "TGL_LHR", "HUB_KEL", "NAMA_IBU",
             "PROVINSI", "KABUPATEN", "KECAMATAN", "DESA", "BANJAR", "ALAMAT", "PEKERJAAN", "DESIL", "STA_KEBERADAAN"),
            ("ID_DTKS", "ID_ART", "NOKK", "NIK", "NAMA", "JNS_KEL", "TGL_LHR", "HUB_KEL", "DESA", "STA_KEBERADAAN"),
            description="Dinas Sosial DTKS export: one row per person, region names resolved to village codes.",
        ),
        SourceSpec(
            "dukcapil_kematian",
            "dukcapil_kematian.csv",
            "event",
            ("NIK", "NAMA", "JNS_KEL", "TGL_LHR", "TGL_MENINGGAL", "NO_AKTA", "KODE_DESA"),
            ("NIK", "NAMA", "TGL_MENINGGAL"),
            description="Dukcapil civil-registry deaths registered this month.",
        ),
        SourceSpec(
            "dukcapil_pindah",
            "dukcapil_pindah.csv",
            "event",
            ("NIK", "NOKK", "NAMA", "TGL_PINDAH", "KODE_DESA_ASAL", "KODE_WILAYAH_TUJUAN"),
            ("NIK", "TGL_PINDAH", "KODE_WILAYAH_TUJUAN"),
            description="Dukcapil moves registered this month (inside Buleleng or out of it).",
        ),
        SourceSpec(
            "samsat_kendaraan",
            "samsat_kendaraan.csv",
            "snapshot",
            ("NO_POLISI", "NIK_PEMILIK", "NAMA_PEMILIK", "ALAMAT_PEMILIK", "JENIS_KENDARAAN", "WARNA_TNKB",
             "TAHUN_BUAT", "STATUS"),
            ("NO_POLISI", "NIK_PEMILIK", "NAMA_PEMILIK", "JENIS_KENDARAAN", "WARNA_TNKB", "STATUS"),
            description="Samsat vehicle registrations; private passenger cars make a family MAMPU_MOBIL.",
        ),
        SourceSpec(
            "nelayan",
            "nelayan.csv",
            "snapshot",
            ("NO_KUSUKA", "NIK", "NAMA", "TGL_LHR", "KODE_DESA", "JENIS_NELAYAN"),
            ("NIK", "NAMA"),
            description="Dinas Perikanan fishers (KUSUKA card holders): the BSU_NELAYAN sector list.",
        ),
        SourceSpec(
            "angkutan",
            "angkutan.csv",
            "snapshot",
            ("NIK", "NAMA", "TGL_LHR", "NO_SIM", "TRAYEK", "NO_POLISI"),
            ("NIK", "NAMA"),
            description="Dinas Perhubungan angkot/angdes drivers: the BSU_ANGKUTAN sector list.",
        ),
        SourceSpec(
            "umkm",
            "umkm.csv",
            "snapshot",
            ("NIK", "NAMA", "TGL_LHR", "NAMA_USAHA", "NIB", "JENIS_USAHA", "KODE_DESA"),
            ("NIK", "NAMA"),
            description="Dinas Koperasi dan UKM micro enterprises: the BPUM sector list.",
        ),
        SourceSpec(
            "desa",
            None,
            "event",
            ("KODE_DESA", "NIK", "NOKK", "NAMA", "JNS_KEL", "TGL_LHR", "HUB_KEL", "ALAMAT", "USULAN", "ALASAN",
             "DESIL_USULAN", "TGL_MUSDES", "NO_BA"),
            ("KODE_DESA", "NIK", "NAMA", "USULAN"),
            separators=(";", ","),
            description="Village updates after the musyawarah desa: TAMBAH, HAPUS, PERBAIKI (one file per village).",
        ),
    )
}
