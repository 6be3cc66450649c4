# syntax=docker/dockerfile:1.7
# One image for every taskstream process; the command picks which one (see app/contract.py):
#   api (default) | relay | worker notifier | worker recurrer | migrate
# The base is pinned by tag; the digest is left to the registry's tag immutability policy
# because it is resolved per platform and could not be verified where this file was written.

FROM python:3.11.15-slim-trixie AS builder

# uv comes from PyPI so the build needs nothing but the Python package index.
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Bytecode is compiled at build time so a read-only root filesystem never needs to write it;
# the virtualenv lives at a fixed path the runtime stage copies verbatim.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv

WORKDIR /src

# Third-party dependencies only, from the lock: this layer changes when uv.lock does, not
# when the code does, and the uv cache mount keeps wheels across builds.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project

# The project itself, installed as a regular (non-editable) package so /src is not needed later.
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable


FROM python:3.11.15-slim-trixie AS runtime

LABEL org.opencontainers.image.title="taskstream" \
      org.opencontainers.image.description="taskstream API, relay, workers and migrations in one image" \
      org.opencontainers.image.licenses="Apache-2.0"

# pip, setuptools and wheel are build tooling the running service never uses.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 taskstream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin taskstream

COPY --from=builder /opt/venv /opt/venv

# Everything a process may write goes to /tmp (an emptyDir under a read-only root filesystem).
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp

WORKDIR /tmp
USER 10001:10001
EXPOSE 8000

ENTRYPOINT ["taskstream"]
CMD ["api"]
