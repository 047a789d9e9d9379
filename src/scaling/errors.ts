/** Error classes of the scaling-law analysis. Messages name the file / column / option and what was expected. */

export class ScalingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScalingError';
  }
}

/** Bad input data: missing columns, missing / non-positive / NaN values, too few points. */
export class ScalingInputError extends ScalingError {
  constructor(message: string) {
    super(message);
    this.name = 'ScalingInputError';
  }
}

/** A fit whose optimiser did not converge from any start (no parameters are reported). */
export class FitNotConvergedError extends ScalingError {
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'FitNotConvergedError';
    this.details = details;
  }
}

/** Unknown preset, unsupported query for a preset, or an argument outside a law's domain. */
export class LawError extends ScalingError {
  constructor(message: string) {
    super(message);
    this.name = 'LawError';
  }
}

/** Model configuration that cannot be counted (missing or inconsistent fields). */
export class ConfigError extends ScalingError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
