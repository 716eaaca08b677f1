"""The payout benchmark on a handmade _truth folder and an existing warehouse."""
import duckdb
import pandas as pd

from dtks_pipeline.benchmarks import payout as bench


def write_truth(root):
    truth = root / "_truth"
    truth.mkdir(parents=True)
    persons = []
    for i in range(1, 5):
        nokk = f"51080100000000{i:02d}"
        persons += [
            {"true_person_id": f"T{i}h", "nik": f"51080119800100{i:02d}", "nokk": nokk, "nama": "X", "jenis_kelamin": "L",
             "tgl_lahir": "1980-01-01", "hub_kel": 1, "kode_desa": "5108012001"},
            {"true_person_id": f"T{i}s", "nik": f"51080159800100{i:02d}", "nokk": nokk, "nama": "Y", "jenis_kelamin": "P",
             "tgl_lahir": "1981-01-01", "hub_kel": 2, "kode_desa": "5108012001"},
        ]
    pd.DataFrame(persons).to_csv(truth / "persons.csv", index=False)
    pd.DataFrame([{"nokk": f"51080100000000{i:02d}", "kode_desa": "5108012001", "desil": i} for i in range(1, 5)]).to_csv(truth / "families.csv", index=False)
    reg = []
    for period in ("2022-10", "2022-11"):
        for p in persons:
            dead = period == "2022-11" and p["true_person_id"] == "T1h"
            reg.append({"period": period, "true_person_id": p["true_person_id"], "nokk": p["nokk"], "kode_desa": p["kode_desa"],
                        "status": "MENINGGAL" if dead else "AKTIF"})
    pd.DataFrame(reg).to_csv(truth / "registry.csv", index=False)
    pd.DataFrame([{"period": "2022-11", "nokk": "5108010000000001", "true_person_id": "T1h", "reason_code": "MENINGGAL"},
                  {"period": "2022-11", "nokk": "5108010000000004", "true_person_id": "", "reason_code": "MAMPU_MOBIL"}]
                 ).to_csv(truth / "exclusions.csv", index=False)
    pd.DataFrame([{"period": "2022-10", "source": "nelayan", "true_person_id": "T4s"}]).to_csv(truth / "sector.csv", index=False)


def test_benchmark_scores_an_existing_warehouse(tmp_path):
    write_truth(tmp_path)
    workdir = tmp_path / "bench"
    workdir.mkdir()
    with duckdb.connect(str(tmp_path / "t.duckdb")) as con:
        periods = bench.build_truth_registry(tmp_path / "_truth", con)
        truth = bench.true_payments(con, periods, bench.load_programs())
    assert periods == ["2022-10", "2022-11"]
    nov = truth[truth["period"] == "2022-11"].set_index("nokk")
    assert nov.loc["5108010000000001", "recipient_nik"] == "5108015980010001"  # the spouse, head died
    assert "5108010000000004" not in nov.index  # MAMPU_MOBIL
    assert truth[truth["period"] == "2022-10"].set_index("nokk").loc["5108010000000004", "program"] == "BSU_NELAYAN"
    pred = truth.copy()
    pred.loc[0, "recipient_nik"] = "5108010000000000"
    pred = pred.iloc[:-1]
    with duckdb.connect(str(workdir / "dtks.duckdb")) as con:
        con.execute("CREATE SCHEMA payout")
        con.execute("CREATE TABLE payout.payments AS SELECT * FROM pred")
    result = bench.run(tmp_path, workdir)
    o = result["overall"]
    assert (o["true"], o["predicted"], o["precision"]) == (len(truth), len(truth) - 1, 1.0)
    assert o["recall"] < 1 and o["recipient_correct"] == len(truth) - 2
    assert (workdir / "payout_benchmark.json").exists()
