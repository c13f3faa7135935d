/** The ldconsole driver: typed commands, parsers, decoding, config reading and typed errors. */
export {
  LdConsole,
  parseShellStatus,
  type LdConsoleOptions,
  type WaitBootedOptions,
  type InstallSource,
  type TransferPaths,
  type ShellResult,
} from './console.js';
export type { CallOptions } from './runner.js';
export {
  LdConsoleError,
  isLdConsoleError,
  categoryOf,
  type LdConsoleErrorCode,
  type LdConsoleErrorCategory,
  type LdConsoleErrorDetails,
} from './errors.js';
export {
  selectorArgs,
  modifyArgs,
  globalSettingArgs,
  actionArgs,
  copySourceArg,
  MEMORY_SIZES_MB,
  CPU_COUNTS,
  type Selector,
  type ModifySettings,
  type GlobalSettings,
  type GeoPoint,
  type Action,
  type CpuCount,
  type MemoryMb,
  type AutoOr,
} from './args.js';
export {
  parseList2,
  parseList2Line,
  detectList2Columns,
  formatList2,
  parseTitles,
  parseIsRunning,
  parseGetprop,
  parseJsonOutput,
  isHelpText,
  isNotRunningMessage,
  isAdbDeviceMissing,
  isAdbDeviceOffline,
  isAdbConflict,
  isPng,
  outputLines,
  OutputParseError,
  PLAYER_NOT_FOUND,
  PARAMETER_ERROR,
  PNG_SIGNATURE,
  type List2Row,
  type List2Columns,
  type InstanceState,
  type Resolution,
} from './parse.js';
export { errorCodeInOutput, androidErrorCodeInOutput } from './runner.js';
export { decodeOutput, looksLossy, isSupportedCodepage, DEFAULT_CODEPAGE, type Codepage } from './decode.js';
export {
  readInstanceConfig,
  parseInstanceConfig,
  setConfigNumber,
  configPath,
  CONFIG_KEYS,
  DEFAULT_INSTANCE_SETTINGS,
  type InstanceConfig,
  type InstanceSettings,
} from './config.js';
export { unconfirmedSettings } from './readback.js';
