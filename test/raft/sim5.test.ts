import { simSuite } from './sim/suite.js';

simSuite(5, 1000);
