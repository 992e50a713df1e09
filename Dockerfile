# One image for the API and the scheduler (docker-compose.yml runs both from it).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sfa sfa
COPY api api
COPY analytics analytics
COPY integrations integrations
# Only what running needs: the test tools (pytest, Tryton, ...) stay out of the image.
RUN pip install --no-cache-dir .
# Production settings: no development secret; a random JWT secret is generated on first
# start and kept in the data folder, which docker-compose.yml puts on a volume.
ENV SFA_ENV=production SFA_DATA_DIR=/data
RUN useradd --system --uid 10001 --home-dir /app sfa && mkdir /data && chown sfa: /data
USER sfa
VOLUME /data
EXPOSE 8000
CMD ["sfa", "serve", "--host", "0.0.0.0", "--port", "8000"]
