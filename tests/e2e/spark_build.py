"""Build the dbt project on Spark (pyspark in local mode, dbt-spark's in-process session).

    python -m tests.e2e.spark_build SOURCES TARGET MARTS

SOURCES holds `<schema>.<table>.parquet` for every dbt source, as the DuckDB warehouse has them;
they become tables of the session's catalog in the same schemas. dbt then builds the whole
project with its tests (`--target spark`), and every mart is written to MARTS/<table>/ as
Parquet for comparison. Run in a working folder of its own: Spark keeps its metastore and
warehouse there. Exit code 1 when the build fails.
"""

import sys
from pathlib import Path

from pyspark.sql import SparkSession

from orchestration.project import DBT_PROJECT_DIR


def main(sources: Path, target: Path, marts: Path) -> int:
    # The session dbt-spark opens (method: session) is this one: getOrCreate returns it, with
    # the sources already in its catalog.
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for path in sorted(sources.glob("*.parquet")):
        schema, table = path.stem.split(".", 1)
        spark.sql(f"create database if not exists {schema}")
        spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{schema}.{table}")

    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target", "spark",
            "--target-path", str(target),
            "--log-path", str(target / "logs"),
        ]
    )  # fmt: skip
    if not result.success:
        return 1
    for row in spark.sql("show tables in marts").collect():
        spark.table(f"marts.{row.tableName}").coalesce(1).write.parquet(str(marts / row.tableName))
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(arg).resolve() for arg in sys.argv[1:4])))
