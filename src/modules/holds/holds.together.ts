/**
 * The `together` rule (docs/holds.md): `n` seats with adjacent seat numbers, chosen so that no
 * single free seat is left stranded (a gap of exactly one free seat between taken seats or
 * between a taken seat and the end of the house), whenever another choice exists.
 *
 * Among the runs of adjacent free seats that can take the party:
 *   1. runs the party leaves without a stranded seat come first: a run of exactly `n` seats, or
 *      one of `n + 2` or more (the block goes at its low end, leaving two or more free seats);
 *      a run of `n + 1` always strands one seat, whichever end the block takes;
 *   2. then the shortest run (best fit: long runs stay whole for bigger parties);
 *   3. then the lowest seat number.
 * The block starts at its run's lowest seat. Pure, so the rule is tested on its own.
 */

export interface FreeSeat {
  id: number;
  seatNumber: number;
}

interface Run {
  start: number; // index into the seat list
  length: number;
}

/** Maximal runs of consecutive seat numbers in an ascending list of free seats. */
function runsOf(free: readonly FreeSeat[]): Run[] {
  const runs: Run[] = [];
  for (let i = 0; i < free.length; i++) {
    const last = runs.at(-1);
    const prev = free[i - 1];
    const seat = free[i] as FreeSeat;
    if (last && prev && seat.seatNumber === prev.seatNumber + 1) last.length++;
    else runs.push({ start: i, length: 1 });
  }
  return runs;
}

/** The seats to hold, or undefined when no `n` adjacent seats are free. `free` ascending by seat number. */
export function pickTogether(free: readonly FreeSeat[], n: number): FreeSeat[] | undefined {
  const fits = runsOf(free).filter((r) => r.length >= n);
  if (fits.length === 0) return undefined;
  const strands = (r: Run) => (r.length - n === 1 ? 1 : 0);
  fits.sort((a, b) => strands(a) - strands(b) || a.length - b.length || a.start - b.start);
  const best = fits[0] as Run;
  return free.slice(best.start, best.start + n);
}
