mail = None
