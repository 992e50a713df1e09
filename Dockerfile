FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sfa sfa
COPY api api
COPY analytics analytics
COPY integrations integrations
RUN pip install --no-cache-dir .
ENV SFA_ENV=development
EXPOSE 8000
CMD ["sfa", "serve", "--host", "0.0.0.0", "--port", "8000"]
