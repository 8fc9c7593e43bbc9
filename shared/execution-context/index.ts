export {
  DEFAULT_SCRATCHPAD_MAX_BYTES_PER_JOB,
  ScratchpadLimitError,
  ScratchpadRegistry,
  ScratchpadReleasedError,
  ScratchpadValueError,
  type Scratchpad,
  type ScratchpadStats,
  type ScratchValue,
} from "./scratchpad.ts";
