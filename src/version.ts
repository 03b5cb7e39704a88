/** atomgp's version, written into model files and printed by `atomgp --version`. */
export const VERSION = '0.1.0';
