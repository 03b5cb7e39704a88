"""An ASE calculator as atomgp's reference: `python3 ase_client.py NAME START.xyz`.

Connects to atomgp listening on /tmp/ipi_NAME (`--reference ipi:unix:NAME`) and answers every
force call with the calculator below until atomgp sends EXIT. EMT is a toy for molecules; put any
ASE calculator in its place (GPAW, NWChem, Psi4, a machine-learned potential, ...).
"""
import os
import sys
import time

from ase.calculators.emt import EMT
from ase.calculators.socketio import SocketClient
from ase.io import read

name, start = sys.argv[1], sys.argv[2]
atoms = read(start, 0)  # the same atoms in the same order as atomgp's start geometry
atoms.calc = EMT()
for _ in range(600):  # wait up to 60 s for atomgp to listen
    if os.path.exists('/tmp/ipi_' + name):
        try:
            client = SocketClient(unixsocket=name)
            break
        except OSError:
            pass
    time.sleep(0.1)
else:
    sys.exit('no atomgp listening on /tmp/ipi_' + name)
client.run(atoms)
print('ASE client: atomgp sent EXIT')
