# One image for every wirefeed process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY ingest ./ingest
COPY feeds ./feeds
COPY workers ./workers
RUN pip install --no-cache-dir . && useradd --system --home /app wirefeed
USER wirefeed
EXPOSE 8080
CMD ["wirefeed", "run"]
