export { build, VERSION, type AppServices } from './app.js';
export { loadConfig, ConfigError, type ServerConfig, type ConfigOverrides } from './config/index.js';
