"""Where an e2e run deploys: ``local`` (the local cloud and the local engine) or ``aws``."""
