"""Resource providers served by the sandbox, one package each (moto's split: models, responses,
urls). They are listed in pytask.sandbox.core.registry."""
