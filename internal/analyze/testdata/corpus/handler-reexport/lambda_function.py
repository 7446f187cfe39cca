from core.entry import run as handler
