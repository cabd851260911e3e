"""SQL over the cases and results for drift: which JSON keys a pair has, and the set-based
counts PSI and JS are computed from (`review.drift` holds the binning and the statistics).

Every statement reads both runs at once and groups in DuckDB (GROUPING SETS give the overall and
per-slice counts in one pass), so the cost does not depend on the number of slices or bins.
A column is given as its SQL expression over the aliases `r` (results) and `c` (cases).
"""

from __future__ import annotations

from typing import Any

import duckdb

Row = tuple[Any, ...]


def case_field_types(con: duckdb.DuckDBPyConnection, suite_ids: tuple[str, str]) -> list[Row]:
    """(key, [JSON types]) of every field of the two suites' cases."""
    return con.execute(
        "SELECT e.key, list(DISTINCT e.type) FROM cases c, json_each(c.canonical) e "
        "WHERE c.suite_id IN (?, ?) GROUP BY e.key",
        list(suite_ids),
    ).fetchall()


def metadata_key_types(con: duckdb.DuckDBPyConnection, run_ids: tuple[str, str]) -> list[Row]:
    """(key, [JSON types]) of every metadata key of the two runs' results."""
    return con.execute(
        "SELECT e.key, list(DISTINCT e.type) FROM results r, json_each(r.metadata) e "
        "WHERE r.run_id IN (?, ?) AND r.metadata IS NOT NULL GROUP BY e.key",
        list(run_ids),
    ).fetchall()


def metadata_types_at(
    con: duckdb.DuckDBPyConnection, pointer: str, run_ids: tuple[str, str]
) -> set[str | None]:
    """The JSON types one metadata key (a JSON pointer) takes in the two runs (None: absent)."""
    return {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT json_type(r.metadata, ?) FROM results r "
            "WHERE r.run_id IN (?, ?) AND r.metadata IS NOT NULL",
            [pointer, *run_ids],
        ).fetchall()
    }


def case_field_types_at(
    con: duckdb.DuckDBPyConnection, pointer: str, suite_ids: tuple[str, str]
) -> set[str | None]:
    """The JSON types one case field (a JSON pointer) takes in the two suites (None: absent)."""
    return {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT json_type(c.canonical, ?) FROM cases c WHERE c.suite_id IN (?, ?)",
            [pointer, *suite_ids],
        ).fetchall()
    }


def side_values(
    column_sql: str,
    column_params: tuple[Any, ...],
    numeric: bool,
    by: str,
    sides: tuple[tuple[str, str, str], ...],
) -> tuple[str, list[Any]]:
    """SQL of (side, grp, x) rows, one per case result of each (side, suite, run) in `sides`:
    `grp` the case column `by` (a known column name, never user text), `x` the column's value."""
    x = f"CAST(({column_sql}) AS {'DOUBLE' if numeric else 'VARCHAR'})"
    part = (
        f"SELECT ? AS side, c.{by} AS grp, {x} AS x FROM results r "
        "JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id WHERE r.run_id = ?"
    )
    params: list[Any] = []
    for side, suite_id, run_id in sides:
        params += [side, *column_params, suite_id, run_id]
    return " UNION ALL ".join([part] * len(sides)), params


def reference_quantiles(
    con: duckdb.DuckDBPyConnection, values_sql: str, params: list[Any], levels: list[float]
) -> Row:
    """(quantiles at `levels`, min, max) of the reference side's finite values."""
    return con.execute(
        f"WITH v AS ({values_sql}) SELECT quantile_disc(x, ?::DOUBLE[]), min(x), max(x) "
        "FROM v WHERE side = 'reference' AND isfinite(x)",
        [*params, levels],
    ).fetchone() or (None, None, None)


def numeric_histograms(
    con: duckdb.DuckDBPyConnection, values_sql: str, params: list[Any], boundaries: list[float]
) -> list[Row]:
    """(side, grp, is overall, histogram over `boundaries` or a count, missing values) per side,
    overall and per group."""
    values = "histogram(x, ?::DOUBLE[])" if boundaries else "count(x)"
    return con.execute(
        f"WITH v AS ({values_sql}) SELECT side, grp, GROUPING(grp), {values}, count(*) - count(x) "
        "FROM v GROUP BY GROUPING SETS ((side), (side, grp))",
        [*params, boundaries] if boundaries else params,
    ).fetchall()


def category_counts(
    con: duckdb.DuckDBPyConnection, values_sql: str, params: list[Any], max_categories: int
) -> list[Row]:
    """(side, grp, is overall, kind, label, count, distinct labels) per side, overall and per
    group: the `max_categories` most frequent labels as `value`, the rest pooled as `other`,
    missing values as `null`."""
    return con.execute(
        f"""WITH v AS ({values_sql}),
                 ranked AS (SELECT x, row_number() OVER (ORDER BY count(*) DESC, x) AS rank
                            FROM v WHERE x IS NOT NULL GROUP BY x),
                 b AS (SELECT v.side, v.grp,
                              CASE WHEN v.x IS NULL THEN 'null'
                                   WHEN ranked.rank <= ? THEN 'value' ELSE 'other' END AS kind,
                              CASE WHEN ranked.rank <= ? THEN v.x END AS label
                       FROM v LEFT JOIN ranked ON ranked.x = v.x)
            SELECT side, grp, GROUPING(grp), kind, label, count(*),
                   (SELECT count(*) FROM ranked)
            FROM b GROUP BY GROUPING SETS ((side, kind, label), (side, grp, kind, label))""",
        [*params, max_categories, max_categories],
    ).fetchall()
