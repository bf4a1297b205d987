// Test certificates made at run time: the helpers live in bench/pki.ts (the TLS
// bench makes its certificates with them too).
export { makeCa, makeCert, makeCrl, type CertOptions, type TestCa, type TestCert } from '../../../bench/pki.js';
