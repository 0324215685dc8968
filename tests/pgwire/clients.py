"""Real Python clients against darkroom's Postgres endpoint, for the tests in
crates/cli/tests/it/pgwire.rs (which install nothing: scripts/test does).

    python3 clients.py MODE HOST PORT USER PASSWORD < input.json > output.json

MODE is one of:
  queries   input: a list of SQL texts. Output: each client's answers,
            {client: [{"columns": [...], "rows": [[...]]}, ...]}, for psycopg 3
            (simple protocol), psycopg 3 with prepared statements (extended
            protocol, server-side prepare), and SQLAlchemy + pandas.read_sql.
  refused   input: a list of statements. Output: [sqlstate or "ok"], each sent
            through psycopg's extended protocol (prepare=True) on one connection.
  sqlstate  input: {"sql": ..., "options": ...}. Output: the statement's sqlstate or "ok".
  follow    one connection: the answer of input["sql"], then a line on stdin,
            then the answer again (the connection kept open in between).
  login     input: {"sslmode": ...}. Output: "ok" or the connection error's sqlstate and message.
  open      input: {"warehouse": PATH, "table": NAME, "version": N or null,
            "sql": polars SQL over the table as `t`}. Output: the rows
            deltalake and Polars read straight from the Delta folder.
"""

import datetime
import decimal
import json
import sys


def plain(value):
    """A cell as JSON: numbers as numbers, dates and times as ISO 8601 text."""
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars from pandas
        value = value.item()
    if isinstance(value, float) and value != value:  # pandas' NaN for NULL
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, (datetime.date,)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return value


def answer(columns, rows):
    return {"columns": list(columns), "rows": [[plain(v) for v in row] for row in rows]}


def connect(host, port, user, password, **options):
    import psycopg

    return psycopg.connect(
        host=host, port=port, user=user, password=password, dbname="darkroom", autocommit=True, **options
    )


def run_psycopg(args, queries, prepare):
    answers = []
    with connect(*args) as conn:
        for sql in queries:
            with conn.cursor() as cur:
                cur.execute(sql, prepare=prepare)
                answers.append(answer([d.name for d in cur.description], cur.fetchall()))
    return answers


def run_pandas(args, queries):
    import pandas
    import sqlalchemy

    host, port, user, password = args
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg", username=user, password=password, host=host, port=int(port), database="darkroom"
    )
    engine = sqlalchemy.create_engine(url)
    answers = []
    with engine.connect() as conn:
        for sql in queries:
            frame = pandas.read_sql(sqlalchemy.text(sql), conn)
            answers.append(answer(frame.columns, frame.astype(object).itertuples(index=False, name=None)))
    engine.dispose()
    return answers


def sqlstate_of(error):
    return getattr(error, "sqlstate", None) or type(error).__name__


def main():
    mode, host, port, user, password = sys.argv[1:6]
    args = (host, port, user, password)
    given = json.load(sys.stdin) if mode != "follow" else json.loads(sys.stdin.readline())
    import psycopg

    if mode == "queries":
        out = {
            "psycopg": run_psycopg(args, given, prepare=False),
            "psycopg_prepared": run_psycopg(args, given, prepare=True),
            "sqlalchemy_pandas": run_pandas(args, given),
        }
    elif mode == "refused":
        out = []
        with connect(*args) as conn:
            for sql in given:
                try:
                    conn.execute(sql, prepare=True)
                    out.append("ok")
                except psycopg.Error as error:
                    out.append(sqlstate_of(error))
    elif mode == "sqlstate":
        try:
            with connect(*args) as conn:
                conn.execute(given["sql"], prepare=given.get("prepare", False)).fetchall()
                out = "ok"
        except psycopg.Error as error:
            out = sqlstate_of(error)
    elif mode == "follow":
        with connect(*args) as conn:
            first = conn.execute(given["sql"]).fetchall()
            print(json.dumps([[plain(v) for v in row] for row in first]), flush=True)
            sys.stdin.readline()
            again = conn.execute(given["sql"]).fetchall()
            out = [[plain(v) for v in row] for row in again]
    elif mode == "login":
        try:
            with connect(*args, sslmode=given.get("sslmode", "prefer")) as conn:
                conn.execute("SELECT 1").fetchall()
                out = {"outcome": "ok", "tls": conn.info.pgconn.ssl_in_use}
        except psycopg.Error as error:
            # libpq keeps a failed login's SQLSTATE to itself: the message says what happened.
            out = {"outcome": sqlstate_of(error), "message": str(error)}
    elif mode == "open":
        out = open_table(given)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


def open_table(given):
    import deltalake
    import polars

    version = given.get("version")
    table = deltalake.DeltaTable(f"{given['warehouse']}/{given['table']}", version=version)
    by_deltalake = table.to_pyarrow_table()
    frame = polars.read_delta(f"{given['warehouse']}/{given['table']}", version=version)
    answered = polars.SQLContext(t=frame).execute(given["sql"], eager=True)
    return {
        "deltalake_rows": by_deltalake.num_rows,
        "deltalake_version": table.version(),
        "polars": answer(answered.columns, answered.rows()),
    }


if __name__ == "__main__":
    main()
