#!/bin/bash
# Runs once, on the first start of an empty ClickHouse volume: a user for Grafana that can read
# the history tables and nothing else. readonly = 2 still lets a query set its own settings (some
# dashboard panels use SETTINGS join_use_nulls = 1), but never write or change DDL.
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_password BY '${CLICKHOUSE_GRAFANA_PASSWORD}'
  SETTINGS readonly = 2;
GRANT SELECT ON tripline.* TO grafana;
SQL
