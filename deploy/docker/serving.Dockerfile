# syntax=docker/dockerfile:1.7
# Serving images for `symae serve ingest|inference|publish` and `symae replay`: ONNX
# Runtime, no torch (the serving path never imports it). Two targets, built from the
# repository root:
#
#   docker build -f deploy/docker/serving.Dockerfile --target serving-gpu -t symae-serving:0.1.0-gpu .
#   docker build -f deploy/docker/serving.Dockerfile --target serving-cpu -t symae-serving:0.1.0-cpu .
#
# serving-gpu: onnxruntime-gpu (CUDA 13 build) on NVIDIA's CUDA 13 + cuDNN 9 runtime;
#              needs an NVIDIA driver >= 580 on the host and the NVIDIA container toolkit.
# serving-cpu: onnxruntime (CPU build) on python slim; for ingest, publish, replay and
#              inference on machines without a GPU.
# Python itself comes from the official python image in both: the build stage makes the
# virtual environment there and the GPU runtime stage copies that interpreter next to it.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04

# ---- build: one virtual environment per variant ------------------------------------
FROM ${PYTHON_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/symae && /opt/symae/bin/pip install --upgrade pip

FROM build-base AS build-cpu
# dependencies first: a source change does not re-download them
COPY deploy/docker/requirements-serving-cpu.txt /tmp/requirements.txt
RUN /opt/symae/bin/pip install -r /tmp/requirements.txt
COPY pyproject.toml README.md /src/
COPY symae /src/symae
COPY services /src/services
RUN /opt/symae/bin/pip install --no-deps /src \
 && /opt/symae/bin/python -m compileall -q /opt/symae/lib/python3.11/site-packages/symae \
        /opt/symae/lib/python3.11/site-packages/services

FROM build-base AS build-gpu
# dependencies first: a source change does not re-download them
COPY deploy/docker/requirements-serving.txt /tmp/requirements.txt
RUN /opt/symae/bin/pip install -r /tmp/requirements.txt
COPY pyproject.toml README.md /src/
COPY symae /src/symae
COPY services /src/services
RUN /opt/symae/bin/pip install --no-deps /src \
 && /opt/symae/bin/python -m compileall -q /opt/symae/lib/python3.11/site-packages/symae \
        /opt/symae/lib/python3.11/site-packages/services

# ---- runtime: CPU ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS serving-cpu
ARG SYMAE_UID=10001
RUN useradd --uid ${SYMAE_UID} --user-group --create-home --shell /usr/sbin/nologin symae \
 && mkdir -p /models /data/products \
 && chown -R symae:symae /models /data
COPY --from=build-cpu /opt/symae /opt/symae
ENV PATH=/opt/symae/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    SYMAE_MODEL_REGISTRY=/models \
    SYMAE_PRODUCTS_DIR=/data/products \
    SYMAE_METRICS_PORT=9400 \
    SYMAE_HTTP_PORT=8080
RUN python -c "import onnxruntime, services, symae.cli; print(onnxruntime.get_available_providers())" \
 && symae --help > /dev/null
USER ${SYMAE_UID}:${SYMAE_UID}
WORKDIR /home/symae
EXPOSE 9400 8080
# /healthz of the service's metrics port (services/runtime/health.py)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SYMAE_METRICS_PORT', '9400'), timeout=4)"]
ENTRYPOINT ["symae"]
CMD ["--help"]

# ---- runtime: GPU (default target) -------------------------------------------------
FROM ${CUDA_IMAGE} AS serving-gpu
ARG SYMAE_UID=10001
# shared libraries the official CPython build links against (ssl, ffi, sqlite, ...)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata libssl3t64 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g \
      libexpat1 libuuid1 libncursesw6 libreadline8t64 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid ${SYMAE_UID} --user-group --create-home --shell /usr/sbin/nologin symae \
 && mkdir -p /models /data/products \
 && chown -R symae:symae /models /data
COPY --from=build-gpu /usr/local/bin/python3.11 /usr/local/bin/python3.11
COPY --from=build-gpu /usr/local/lib/libpython3.11.so.1.0 /usr/local/lib/libpython3.11.so.1.0
COPY --from=build-gpu /usr/local/lib/python3.11 /usr/local/lib/python3.11
COPY --from=build-gpu /opt/symae /opt/symae
RUN ldconfig \
 && ln -s python3.11 /usr/local/bin/python3 \
 && ln -s python3.11 /usr/local/bin/python
ENV PATH=/opt/symae/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    SYMAE_MODEL_REGISTRY=/models \
    SYMAE_PRODUCTS_DIR=/data/products \
    SYMAE_METRICS_PORT=9400 \
    SYMAE_HTTP_PORT=8080 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# fails the build when the copied interpreter misses a library or ORT lacks its CUDA EP
RUN python -c "import ssl, sqlite3, ctypes, lzma, bz2, onnxruntime as ort, services, symae.cli; \
assert 'CUDAExecutionProvider' in ort.get_available_providers(), ort.get_available_providers()" \
 && symae --help > /dev/null
USER ${SYMAE_UID}:${SYMAE_UID}
WORKDIR /home/symae
EXPOSE 9400 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SYMAE_METRICS_PORT', '9400'), timeout=4)"]
ENTRYPOINT ["symae"]
CMD ["--help"]
