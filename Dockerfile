# Odoo 18 with Crowd Service's Python packages, installed the way an Odoo admin installs them:
# `pip install -r requirements.txt` from the repository (the engine package crowd-dispatch included).
# The addons themselves are mounted at /mnt/extra-addons (see docker-compose.yml), so editing an
# addon needs no rebuild; editing the engine (crowd_dispatch/) does: `docker compose build`.
FROM odoo:18.0
USER root
WORKDIR /opt/crowd
COPY pyproject.toml requirements.txt requirements-dev.txt ./
COPY crowd_dispatch ./crowd_dispatch
RUN pip3 install --no-cache-dir --break-system-packages -r requirements.txt
# WITH_TESTS=1 adds the test tools and Chromium for the portal's browser tours (Debian's package).
ARG WITH_TESTS=0
RUN if [ "$WITH_TESTS" = "1" ]; then \
        pip3 install --no-cache-dir --break-system-packages -r requirements-dev.txt \
        && apt-get update && apt-get install -y --no-install-recommends make chromium \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /
USER odoo
