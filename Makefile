.PHONY: test test-engine lint run
test:            ## lint + engine suite + Odoo suite (when Odoo 18 is available)
	bash scripts/test.sh
test-engine:     ## engine suite only
	python3 -m pytest tests/ -q
lint:
	python3 -m ruff check . && python3 -m ruff format --check . && python3 -m pylint --rcfile=.pylintrc crowd_service crowd_service_portal crowd_service_payout
run:             ## Odoo on http://localhost:8069 with the addons and demo data
	docker compose up
