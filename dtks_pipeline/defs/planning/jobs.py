"""The Dagster job `dtks_simulation`: `dtks simulate` from the UI launchpad.

Run config (Launchpad, ops.simulate_scenario.config):

    month: "2022-12"             # last simulated month
    scenario_file: "/path/to/scenario.yaml"
    months: 1                    # N months ending at `month`
    out_dir: ""                  # default data/simulations/<month>_<scenario name>

It reads the *published* warehouse (WarehouseResource.published_path) read-only,
like the CLI, and writes the workbook, the page and the simulation.* DuckDB file
to out_dir. A bad scenario fails the run with the file, program and field named.
"""

import dagster as dg
from pydantic import Field

from dtks_pipeline.defs.payout.programs import ProgramConfigError
from dtks_pipeline.defs.planning.run import format_comparison, run_simulation
from dtks_pipeline.defs.planning.scenario import ScenarioError
from dtks_pipeline.defs.shared import WarehouseResource

SIMULATION_JOB_NAME = "dtks_simulation"


class SimulationConfig(dg.Config):
    month: str = Field(description="last simulated month, YYYY-MM (a month of the published warehouse)")
    scenario_file: str = Field(description="path of the scenario programs file (programs.yaml format)")
    months: int = Field(default=1, description="number of months simulated, ending at `month`")
    out_dir: str = Field(default="", description="output folder; empty: data/simulations/<month>_<scenario name>")


@dg.op(description="Simulate a scenario programs file on the published warehouse and write the comparison.")
def simulate_scenario(context: dg.OpExecutionContext, config: SimulationConfig, warehouse: WarehouseResource) -> dg.Output:
    try:
        result = run_simulation(warehouse.published_path, config.scenario_file, config.month, config.months,
                                config.out_dir or None)
    except (ProgramConfigError, ScenarioError, FileNotFoundError) as exc:
        raise dg.Failure(description=f"bad scenario, nothing written: {exc}") from exc
    table = format_comparison(result.views)
    context.log.info("\n" + table)
    return dg.Output(str(result.out_dir), metadata={
        "workbook": dg.MetadataValue.path(str(result.workbook)),
        "page": dg.MetadataValue.path(str(result.page)),
        "simulation_db": dg.MetadataValue.path(str(result.store)),
        "months": ", ".join(result.scenario.months),
        "comparison": dg.MetadataValue.md(f"```\n{table}\n```"),
        "seconds": round(result.seconds, 1),
    })


@dg.job(name=SIMULATION_JOB_NAME, executor_def=dg.in_process_executor,
        description="What-if budget simulation of a scenario programs file (run config: month, scenario_file, months).")
def simulation_job():
    simulate_scenario()
