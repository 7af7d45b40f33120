# Odoo 18 with the Python packages Crowd Service needs. The addons are mounted, not copied
# (see docker-compose.yml), so editing them needs no rebuild.
FROM odoo:18.0
USER root
COPY requirements.txt requirements-dev.txt /tmp/crowd/
RUN pip3 install --no-cache-dir --break-system-packages -r /tmp/crowd/requirements.txt
# WITH_TESTS=1 adds the test tools and a Chromium for the portal's browser tours.
ARG WITH_TESTS=0
RUN if [ "$WITH_TESTS" = "1" ]; then \
        pip3 install --no-cache-dir --break-system-packages -r /tmp/crowd/requirements-dev.txt \
        && apt-get update && apt-get install -y --no-install-recommends make curl \
        && curl -fsSL -o /tmp/chrome.deb https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb \
        && apt-get install -y --no-install-recommends /tmp/chrome.deb && rm -rf /var/lib/apt/lists/* /tmp/chrome.deb; \
    fi
# The engine package crowd_dispatch sits at the root of the mounted repository.
ENV PYTHONPATH=/mnt/extra-addons
USER odoo
