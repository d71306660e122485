# syntax=docker/dockerfile:1.7
# Trainer image: PyTorch (CUDA build from PyPI) and the symae trainer. Its entry point,
# symae-train, trains on one GPU (`symae train`) or several (`torchrun`), exports the ONNX
# graphs and publishes the model into the registry that the inference service watches.
# Build from the repository root:
#
#   docker build -f deploy/docker/trainer.Dockerfile -t symae-trainer:0.1.0 .

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/symae && /opt/symae/bin/pip install --upgrade pip
COPY deploy/docker/requirements-serving.txt deploy/docker/requirements-trainer.txt /tmp/
RUN /opt/symae/bin/pip install -r /tmp/requirements-trainer.txt
COPY pyproject.toml README.md /src/
COPY symae /src/symae
COPY services /src/services
RUN /opt/symae/bin/pip install --no-deps /src

FROM ${PYTHON_IMAGE} AS trainer
ARG SYMAE_UID=10001
RUN useradd --uid ${SYMAE_UID} --user-group --create-home --shell /usr/sbin/nologin symae \
 && mkdir -p /models /data /work \
 && chown -R symae:symae /models /data /work
COPY --from=build /opt/symae /opt/symae
COPY --chmod=0755 deploy/docker/trainer-entrypoint.sh /usr/local/bin/symae-train
ENV PATH=/opt/symae/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    SYMAE_MODEL_REGISTRY=/models \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN python -c "import torch, onnx, symae.cli; print(torch.__version__, torch.version.cuda)" \
 && symae train --help > /dev/null
USER ${SYMAE_UID}:${SYMAE_UID}
WORKDIR /work
# a one-shot job: no long-running process to health-check
HEALTHCHECK NONE
ENTRYPOINT ["symae-train"]
