-- Runs once, when the stack's PostgreSQL starts on an empty volume: a database per purpose, each with
-- its own owner. The passwords come from the compose file's environment (see .env.example).
\set airflow_password `echo "$AIRFLOW_DB_PASSWORD"`
\set rag_password `echo "$RAG_DB_PASSWORD"`
CREATE USER airflow WITH PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE USER rag WITH PASSWORD :'rag_password';
CREATE DATABASE rag OWNER rag;
{%- if cookiecutter.vector_store == "pgvector" %}
\connect rag
CREATE EXTENSION IF NOT EXISTS vector;
{%- endif %}
