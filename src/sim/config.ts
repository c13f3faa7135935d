import { generate } from './identity.js';

/** A leidianN.config: flat JSON whose keys are literal dotted names (reference §7.1). */
export type InstanceConfig = Record<string, unknown>;

export type Locale = 'intl' | 'cn';

export interface Resolution {
  width: number;
  height: number;
  dpi: number;
}

export const CONFIG_KEYS = {
  playerName: 'statusSettings.playerName',
  resolution: 'advancedSettings.resolution',
  resolutionDpi: 'advancedSettings.resolutionDpi',
  cpuCount: 'advancedSettings.cpuCount',
  memorySize: 'advancedSettings.memorySize',
  adbDebug: 'basicSettings.adbDebug',
  model: 'propertySettings.phoneModel',
  manufacturer: 'propertySettings.phoneManufacturer',
  phoneNumber: 'propertySettings.phoneNumber',
  imei: 'propertySettings.phoneIMEI',
  imsi: 'propertySettings.phoneIMSI',
  simSerial: 'propertySettings.phoneSimSerial',
  androidId: 'propertySettings.phoneAndroidId',
  mac: 'propertySettings.macAddress',
  autoRotate: 'basicSettings.autoRotate',
  lockWindow: 'basicSettings.lockWindow',
  rootMode: 'basicSettings.rootMode',
  location: 'statusSettings.location',
} as const;

export function localeFromEnv(env: NodeJS.ProcessEnv = process.env): Locale {
  return env.LDFLEET_SIM_LOCALE === 'cn' ? 'cn' : 'intl';
}

export function defaultTitle(index: number, locale: Locale): string {
  const base = locale === 'cn' ? '雷电模拟器' : 'LDPlayer';
  return index === 0 ? base : `${base}-${index}`;
}

/** What list2 shows while the config has no advancedSettings.resolution (observed per build). */
export function defaultResolution(locale: Locale): Resolution {
  return locale === 'cn' ? { width: 540, height: 960, dpi: 240 } : { width: 1600, height: 900, dpi: 240 };
}

export function titleOf(index: number, config: InstanceConfig, locale: Locale): string {
  const name = config[CONFIG_KEYS.playerName];
  return typeof name === 'string' && name !== '' ? name : defaultTitle(index, locale);
}

export function configuredResolution(config: InstanceConfig, locale: Locale): Resolution {
  const size = config[CONFIG_KEYS.resolution] as { width?: unknown; height?: unknown } | undefined;
  const dpi = config[CONFIG_KEYS.resolutionDpi];
  const fallback = defaultResolution(locale);
  return {
    width: typeof size?.width === 'number' ? size.width : fallback.width,
    height: typeof size?.height === 'number' ? size.height : fallback.height,
    dpi: typeof dpi === 'number' ? dpi : fallback.dpi,
  };
}

const HOTKEYS: Record<string, [number, number]> = {
  backKey: [0, 27],
  homeKey: [0, 112],
  appSwitchKey: [0, 113],
  menuKey: [0, 114],
  zoomInKey: [2, 187],
  zoomOutKey: [2, 189],
  bossKey: [2, 81],
  shakeKey: [2, 54],
  operationRecordKey: [2, 56],
  fullScreenKey: [0, 122],
  screenCutKey: [2, 48],
  installApkKey: [2, 51],
  locationKey: [2, 55],
};

/** A fresh instance's config: realistic keys, new identity, and no advancedSettings (those appear once `modify` writes them). */
export function newInstanceConfig(sharedRoot = 'C:/Users/user/Documents/XuanZhi9'): InstanceConfig {
  const config: InstanceConfig = {
    'propertySettings.phoneIMEI': generate.imei(),
    'propertySettings.phoneIMSI': generate.imsi(),
    'propertySettings.phoneSimSerial': generate.simSerial(),
    'propertySettings.phoneAndroidId': generate.androidId(),
    'propertySettings.phoneModel': 'SM-S9110',
    'propertySettings.phoneManufacturer': 'samsung',
    'propertySettings.macAddress': generate.mac(),
    'propertySettings.phoneNumber': '',
    'statusSettings.sharedApplications': `${sharedRoot}/Applications`,
    'statusSettings.sharedPictures': `${sharedRoot}/Pictures`,
    'statusSettings.sharedMisc': `${sharedRoot}/Misc`,
    'statusSettings.closeOption': 0,
    'basicSettings.left': 0,
    'basicSettings.top': 0,
    'basicSettings.width': 1066,
    'basicSettings.height': 600,
    'basicSettings.realHeigh': 652,
    'basicSettings.realWidth': 1125,
    'basicSettings.isForstStart': true,
    'basicSettings.mulFsAddSize': 0,
    'basicSettings.mulFsAutoSize': 2,
    'basicSettings.autoRun': false,
    'basicSettings.verticalSync': false,
    'basicSettings.heightFrameRate': false,
    'basicSettings.adbDebug': 1,
    'basicSettings.autoRotate': false,
    'basicSettings.isForceLandscape': false,
    'basicSettings.standaloneSysVmdk': false,
    'basicSettings.lockWindow': false,
    'basicSettings.disableMouseFastOpt': true,
    'basicSettings.HDRQuality': 0,
    'basicSettings.fps': 60,
    'basicSettings.astc': true,
    'basicSettings.videoQuality': 10,
    'basicSettings.rightToolBar': true,
    'basicSettings.fsAutoSize': 1,
    'networkSettings.networkEnable': true,
    'networkSettings.networkSwitching': false,
    'networkSettings.networkStatic': false,
    'networkSettings.networkAddress': '0.0.0.0',
    'networkSettings.networkGateway': '0.0.0.0',
    'networkSettings.networkSubnetMask': '255.255.255.0',
    'networkSettings.networkDNS1': '8.8.8.8',
    'networkSettings.networkDNS2': '8.8.4.4',
    'networkSettings.networkInterface': '',
  };
  for (const [name, [modifiers, key]] of Object.entries(HOTKEYS)) {
    config[`hotkeySettings.${name}`] = { modifiers, key };
  }
  return config;
}

export function newGlobalConfig(locale: Locale): Record<string, unknown> {
  return {
    languageId: locale === 'cn' ? 'zh_CN' : 'en_US',
    productLanguageId: locale === 'cn' ? 'zh_CN' : 'en_US',
    reduceAudio: false,
    isSSD: true,
    cleanMode: false,
    framesPerSecond: 60,
    displayMode: false,
    multiPlayerSort: 0,
    windowsAlignType: 0,
    windowsRowCount: 4,
    windowsAutoSize: true,
    windowsOrigin: { x: 0, y: 0 },
    windowsOffset: { x: 30, y: 30 },
    batchStartInterval: 2,
    vmdkFastMode: true,
  };
}

/** The VirtualBox machine file LDPlayer keeps per instance; the UUID encodes the index (reference §1). */
export function vboxXml(index: number): string {
  const hex12 = index.toString(16).padStart(12, '0');
  return [
    '<?xml version="1.0"?>',
    '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.16-windows">',
    `  <Machine uuid="{20160302-aaaa-aaaa-0eee-${hex12}}" name="leidian${index}" OSType="Linux26_64">`,
    '    <MediaRegistry>',
    '      <HardDisks>',
    `        <HardDisk uuid="{20160302-cccc-cccc-0eee-${hex12}}" location="data.vmdk" format="VMDK" type="Normal"/>`,
    `        <HardDisk uuid="{20160302-dddd-dddd-0eee-${hex12}}" location="sdcard.vmdk" format="VMDK" type="Normal"/>`,
    '      </HardDisks>',
    '    </MediaRegistry>',
    '  </Machine>',
    '</VirtualBox>',
    '',
  ].join('\r\n');
}
