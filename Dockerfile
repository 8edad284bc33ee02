# The Airflow image with repo_digest's pinned dependencies baked in.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt constraints.txt /opt/repo_digest/
RUN pip install --no-cache-dir -r /opt/repo_digest/requirements.txt -c /opt/repo_digest/constraints.txt
