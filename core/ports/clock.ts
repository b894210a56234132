/** Time, injectable so that tests and the rehearsal control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
