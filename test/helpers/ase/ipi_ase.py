"""ASE's side of atomgp's i-PI tests (Debian python3-ase, run with /usr/bin/python3).

    ipi_ase.py points NAME FRAMES.xyz OUT.json        SocketIOCalculator: E, F of every frame
    ipi_ase.py bfgs NAME START.xyz FMAX OUT.json      SocketIOCalculator + BFGS to FMAX eV/A
    ipi_ase.py nve NAME FRAME0.extxyz DT STEPS OUT.json
                                                      SocketIOCalculator + VelocityVerlet from the
                                                      positions and velocities (A/fs) of FRAME0
    ipi_ase.py emt-client NAME START.xyz [DIE_AFTER]  SocketClient with EMT until EXIT (or dies
                                                      without a word after DIE_AFTER force calls)
    ipi_ase.py emt-check FILE.extxyz OUT.json         every frame read back (ase.io.read ':'),
                                                      with EMT's own forces at its positions (as
                                                      the client saw them over the socket)
    ipi_ase.py dump FILE.extxyz OUT.json              every frame as ASE reads it

Energies in the JSON are eV, forces eV/A as ASE reports them (dump: the numbers of the file).
The unix socket is /tmp/ipi_NAME.
"""
import json
import os
import sys
import time

import numpy as np
from ase import units
from ase.io import read

# atomgp converts A -> bohr with CODATA 2018 (1 bohr = 0.529177210903 A); ASE 3.22 with its own
# (CODATA 2014) Bohr. Positions are scaled so the bohr values on the wire are exactly atomgp's.
ATOMGP_BOHR_PER_A = 1.8897261246257702
WIRE_SCALE = units.Bohr * ATOMGP_BOHR_PER_A


def wire_atoms(atoms):
    atoms = atoms.copy()
    atoms.positions = atoms.positions * WIRE_SCALE
    return atoms


def socket_calc(name):
    from ase.calculators.socketio import SocketIOCalculator
    return SocketIOCalculator(unixsocket=name, timeout=120)


def points(name, frames_file, out):
    frames = read(frames_file, ':')
    rows = []
    with socket_calc(name) as calc:
        for a in frames:
            w = wire_atoms(a)
            w.calc = calc
            rows.append({'energy_eV': w.get_potential_energy(), 'forces_eV_per_A': w.get_forces().tolist()})
    json.dump({'frames': rows, 'hartree_eV': units.Hartree, 'bohr_A': units.Bohr}, open(out, 'w'))


def bfgs(name, start, fmax, out):
    from ase.optimize import BFGS
    atoms = read(start)
    with socket_calc(name) as calc:
        atoms.calc = calc
        opt = BFGS(atoms, logfile=None)
        converged = opt.run(fmax=float(fmax), steps=500)
        json.dump({
            'converged': bool(converged), 'steps': opt.get_number_of_steps(),
            'energy_eV': atoms.get_potential_energy(), 'positions_A': atoms.positions.tolist(),
            'fmax_eV_per_A': float(np.abs(atoms.get_forces()).max()),
            'hartree_eV': units.Hartree,
        }, open(out, 'w'))


def nve(name, frame0, dt_fs, steps, out):
    from ase.md.verlet import VelocityVerlet
    atoms = read(frame0, 0)
    # atomgp's velocities are A/fs; ASE's are A per ASE time unit (units.fs of them make 1 fs).
    atoms.set_velocities(atoms.arrays['velocities'] / units.fs)
    etot = []
    with socket_calc(name) as calc:
        atoms.calc = calc
        dyn = VelocityVerlet(atoms, timestep=float(dt_fs) * units.fs)
        dyn.attach(lambda: etot.append(atoms.get_potential_energy() + atoms.get_kinetic_energy()), interval=1)
        dyn.run(int(steps))
    json.dump({'etot_eV': etot, 'hartree_eV': units.Hartree, 'frame0_info': {k: v for k, v in read(frame0, 0).info.items() if isinstance(v, (int, float, str))}}, open(out, 'w'))


def emt_client(name, start, die_after=None):
    from ase.calculators.emt import EMT
    from ase.calculators.socketio import SocketClient
    atoms = read(start)
    atoms.calc = EMT()
    path = '/tmp/ipi_' + name
    client = None
    for _ in range(1200):  # the server may not be listening yet
        if os.path.exists(path):
            try:
                client = SocketClient(unixsocket=name)
                break
            except OSError:
                pass
        time.sleep(0.05)
    if client is None:
        sys.exit('emt-client: no server at ' + path)
    calls = 0
    for _ in client.irun(atoms):
        calls += 1
        if die_after is not None and calls >= int(die_after):
            os._exit(9)  # a client that dies mid-run: no EXIT, no goodbye
    print('emt-client: %d force calls, server sent EXIT' % calls)


def frame_record(a):
    rec = {'info': {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in a.info.items()},
           'arrays': {k: v.tolist() for k, v in a.arrays.items() if k not in ('numbers',)},
           'symbols': a.get_chemical_symbols(), 'cell': a.cell.array.flatten().tolist(), 'pbc': a.pbc.tolist()}
    if a.calc is not None:
        rec['calc'] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in a.calc.results.items()}
    return rec


def plain(o):
    """numpy scalars and arrays for json.dump."""
    return o.item() if hasattr(o, 'item') and np.ndim(o) == 0 else np.asarray(o).tolist()


def emt_check(file, out):
    from ase.calculators.emt import EMT
    rows = []
    for a in read(file, ':'):
        rec = frame_record(a)
        b = a.copy()
        # The positions EMT saw: atomgp's bohr values read with ASE's Bohr.
        b.positions = a.positions * WIRE_SCALE
        b.calc = EMT()
        rec['emt_energy_eV'] = b.get_potential_energy()
        rec['emt_forces_eV_per_A'] = b.get_forces().tolist()
        rows.append(rec)
    json.dump({'frames': rows, 'hartree_eV': units.Hartree, 'bohr_A': units.Bohr}, open(out, 'w'), default=plain)


def dump(file, out):
    json.dump({'frames': [frame_record(a) for a in read(file, ':')]}, open(out, 'w'), default=plain)


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'points': points, 'bfgs': bfgs, 'nve': nve, 'emt-client': emt_client, 'emt-check': emt_check, 'dump': dump}[cmd](*args)
