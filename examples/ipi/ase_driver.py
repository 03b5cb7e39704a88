"""ASE drives atomgp over the i-PI protocol: start `atomgp ipi --unix atomgp-water ...` beside it.

Energy and forces, then BFGS and 100 fs of velocity Verlet, all on atomgp's GP model set. Any ASE
tool works the same way: atomgp is just an ASE calculator here.
"""
import numpy as np
from ase import units
from ase.calculators.socketio import SocketIOCalculator
from ase.io import read
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS

atoms = read('examples/water-morse/water.xyz', 0)
# Listens on /tmp/ipi_atomgp-water; the first calculation waits for atomgp to connect.
with SocketIOCalculator(unixsocket='atomgp-water') as calc:
    atoms.calc = calc
    print('E = %.6f eV, max |F| = %.4f eV/A' % (atoms.get_potential_energy(), np.abs(atoms.get_forces()).max()))
    BFGS(atoms, logfile=None).run(fmax=0.01)
    print('BFGS minimum: E = %.6f eV, O-H %.4f A' % (atoms.get_potential_energy(), atoms.get_distance(0, 1)))
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(1))
    e0 = atoms.get_total_energy()
    VelocityVerlet(atoms, timestep=0.5 * units.fs).run(200)
    print('NVE, 100 fs: total energy changed by %.2e eV' % (atoms.get_total_energy() - e0))
