import yaml
from pathlib import Path

SETTINGS = yaml.safe_load(Path(__file__).with_name('settings.yaml').read_text())
