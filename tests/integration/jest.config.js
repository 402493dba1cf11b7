module.exports = { ...require('../../jest.preset.js'), displayName: 'integration', testTimeout: 120000 };
