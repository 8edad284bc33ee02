# The Airflow image of docker-compose.yaml: Airflow's official image with repo_digest's pinned
# dependencies installed (not _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls on every start).
# The code is not baked in: dags/, plugins/ and include/ are mounted by docker-compose.yaml.
# Python 3.11, the version constraints.txt was frozen on.
FROM apache/airflow:3.3.2-python3.11

# Mount points of the shared volumes, owned by the airflow user so that a fresh named volume
# starts writable (airflow-init also chowns them to AIRFLOW_UID).
USER root
RUN mkdir -p /opt/airflow/data/digests /opt/airflow/data/xcom /opt/airflow/auth \
 && chown -R airflow:0 /opt/airflow/data /opt/airflow/auth \
 && chmod -R g+rwX /opt/airflow/data /opt/airflow/auth
USER airflow

COPY requirements.txt constraints.txt /opt/repo_digest/
RUN pip install --no-cache-dir -r /opt/repo_digest/requirements.txt -c /opt/repo_digest/constraints.txt
