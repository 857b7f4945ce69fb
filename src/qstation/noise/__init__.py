"""The emulators' noise: the model's parameters and the faults they put into a program."""
