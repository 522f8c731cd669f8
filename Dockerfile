# msk-triage: the listener, worker and scheduler image (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/msk-triage
# The pinned versions first (a layer that changes only with the pins). The lock file's
# index options point at the build machine's local mirrors: dropped here (PyPI).
COPY requirements/constraints.txt requirements/constraints.txt
RUN grep -v '^--' requirements/constraints.txt > /tmp/constraints.txt
COPY pyproject.toml README.md ./
COPY rules rules
COPY triage triage
COPY dicom_listener dicom_listener
COPY worklist_tui worklist_tui
RUN pip install -c /tmp/constraints.txt . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin msktriage \
    && mkdir -p /data && chown msktriage /data

USER msktriage
ENV MSK_TRIAGE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 11112
CMD ["msk-triage", "--help"]
