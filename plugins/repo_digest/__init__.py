"""repo_digest: a daily digest of what changed in each tracked Git repository, on Apache Airflow.

Modules are small and pure where they can be; nothing here touches the network or an
Airflow connection at import time, so DAG files can import it while being parsed.
"""
