"""What every benchmark script shares: progress on stderr, a fresh PostgreSQL database of its own."""

import sys
import time


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recreate_database(name: str) -> None:
    """Drop and make the benchmark's database, so every run starts from the same empty state."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
