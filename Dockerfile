# csbridge: the scheduled job and the webhook service in one image.
#   docker build -t csbridge .
#   docker run --rm csbridge demo
# tests/integration/test_dockerfile.py mirrors these steps without a Docker engine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY csbridge ./csbridge
COPY csbridge_sandbox ./csbridge_sandbox
RUN pip install '.[postgres,sandbox]' && rm -rf /src

RUN useradd --create-home --uid 10001 csbridge
USER csbridge
WORKDIR /home/csbridge
ENTRYPOINT ["csbridge"]
CMD ["demo"]
